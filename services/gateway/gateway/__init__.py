"""The HTTP gateway and CSR console (I4, I5): HTTP in, the services' request/reply commands out."""
