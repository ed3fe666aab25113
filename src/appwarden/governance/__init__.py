"""appwarden.governance"""
