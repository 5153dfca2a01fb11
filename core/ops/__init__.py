"""Operations: cluster-wide locks and leases, readiness, structured logs, Prometheus metrics."""
