"""appwarden.web"""
