"""Standards libraries (SIP2, Z39.50, NCIP): sans-I/O codecs and thin asyncio shells.

Nothing here imports from ``ils_bridge`` or ``plugins``.
"""
