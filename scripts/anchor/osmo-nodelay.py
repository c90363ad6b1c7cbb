#!/usr/bin/env python3
"""DIAGNOSTIC ONLY: runs pySim's osmo-smdpp.py unchanged, but with TCP_NODELAY set on
every accepted connection (Twisted leaves Nagle on), to test whether osmo-smdpp's
bimodal request times (+~40 ms) are Nagle + delayed ACK. Not used for the headline."""
import runpy
import sys
from twisted.internet import tcp

_init = tcp.Server.__init__


def _init_nodelay(self, *a, **kw):
    _init(self, *a, **kw)
    self.setTcpNoDelay(True)


tcp.Server.__init__ = _init_nodelay
sys.argv = ["osmo-smdpp.py"] + sys.argv[1:]
runpy.run_path("osmo-smdpp.py", run_name="__main__")
