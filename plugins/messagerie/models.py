"""Tortoise models of the messagerie plugin."""
