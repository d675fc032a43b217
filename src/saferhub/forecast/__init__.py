"""Find ahead: forecast models with one contract, a rolling backtest, metrics, a bias audit."""
