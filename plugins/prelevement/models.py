"""Tortoise models of the prelevement plugin."""
