"""Tortoise models of the creche plugin."""
