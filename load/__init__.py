"""Load test (``make load``): a service process and a load-generating process on loopback."""
