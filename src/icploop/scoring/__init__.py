"""Fit scoring on retention outcomes, forecasts and the economics of fit."""
