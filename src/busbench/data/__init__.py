"""Data: dataset adapters -> manifest -> frozen split -> preprocessed cache."""
