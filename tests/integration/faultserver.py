#!/usr/bin/env python3
"""faultserver.py: being written."""
