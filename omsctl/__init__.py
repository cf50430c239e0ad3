"""omsctl: one command line for CSRs and operators (I2)."""
