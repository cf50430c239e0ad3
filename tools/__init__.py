"""Developer and operator tooling that is not a service: AsyncAPI generation, SMTP capture."""
