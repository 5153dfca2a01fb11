"""Portail Famille core: what every community needs, plus the plugin host."""
