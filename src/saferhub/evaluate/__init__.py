"""Prove: evaluate what patrols and partners did — year-on-year, difference-in-differences, displacement,
crossover, dose-response, power, harm and cost — with methods calibrated on real data."""
