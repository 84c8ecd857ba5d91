"""Exchange rates for crypto prices (Binance public ticker, or a static table offline)."""
