"""Importing this module readies the compiled step (sim.compiled.prepare): the simulation worker's
fork server imports it once, so that every worker it forks has the kernel and no visitor's run waits
for numba to compile it."""

from . import compiled

READY = compiled.prepare()
