"""appwarden.report"""
