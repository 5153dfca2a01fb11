"""Billing models (régies' invoice sequences, tariffs, invoices, payments)."""
