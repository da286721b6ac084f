"""NCIP 2.02 (not yet built): message model, safe parser, builder, responder, initiator.

Planned after the SIP2 and Z39.50 work; see ../shared/docs/research/ncip.md. Nothing here yet.
"""
