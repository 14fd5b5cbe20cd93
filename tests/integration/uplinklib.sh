# helpers for the uplink integration tests (being written)
