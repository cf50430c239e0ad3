"""A customer's history (C6, C7): orders, carts, payments, invoices, stores."""
