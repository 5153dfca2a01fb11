"""Tortoise models of the alsh_paj plugin."""
