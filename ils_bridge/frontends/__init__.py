"""Glue from protocol events to hub services: the SIP2 ACS, the Z39.50 target, …"""
