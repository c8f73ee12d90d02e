"""Exit 0 when the NLU service at argv[1] answers /model/parse, else 1 (used by `make nlu-up`)."""

import json
import sys
import urllib.request

request = urllib.request.Request(
    sys.argv[1] + "/model/parse",
    data=json.dumps({"text": "hallo"}).encode(),
    headers={"Content-Type": "application/json"},
)
try:
    with urllib.request.urlopen(request, timeout=2) as response:
        sys.exit(0 if "intent" in json.load(response) else 1)
except (OSError, ValueError):
    sys.exit(1)
