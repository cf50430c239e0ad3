"""Customer service: owns customer records (C1-C20) and answers CSR commands."""
