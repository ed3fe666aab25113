"""appwarden.evidence"""
