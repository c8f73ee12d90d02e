"""The bot. Importing the package limits numpy's BLAS (OpenBLAS) to the calling thread, before numpy is loaded.

Each replica reads messages on one worker thread with a one-thread encoder, and replicas share a few cores with each
other and with Rasa. The nearest-neighbour votes multiply a message's vector with every training line's (about 4,400
and 6,900 rows of 384): big enough for OpenBLAS to split each product over its own threads, which then busy-wait for
the next call and take the cores the other processes need (scale test on 2 cores: each bot's CPU 24.5 s with the
default, 13-15 s with one thread, as before the votes). `python -m bot` imports this first; an operator's own
OPENBLAS_NUM_THREADS is kept. Training (`python -m safety.learned`) does not import the bot and keeps every thread."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
