"""Privacy-policy analysis: read a policy document, classify its disclosures, extract its facts.

Entry point: :func:`appwarden.evidence.policy.analyse.analyse_policy`.
"""
