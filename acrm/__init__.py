"""acrm"""
