"""Telemetry: the JT/T 808 codec (pure, no I/O), the gateway trucks' terminals talk to, durable
position storage, live vehicle state and the fleet simulator."""
