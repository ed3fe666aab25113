"""appwarden.apk"""
