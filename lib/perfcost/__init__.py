"""perfcost."""
