"""The operations dashboard: the fan-out endpoints, the page, the sync baseline,
the simulator's fault controls and the seeds' demo event stream."""
