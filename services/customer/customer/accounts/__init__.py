"""Accounts (C8, C14-C16, C20): passwords, sign-in, emailed links, acting on behalf, email verification."""
