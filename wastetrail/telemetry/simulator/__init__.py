"""Fleet simulator and load generator: JT/T 808 *clients* of the gateway (docs/simulator.md).

Pure modules (geometry, kinematics, replay, the terminal client) know nothing of Django; only
`fleet.py` reads the demo fleet from the database, once, before the simulation starts.
"""
