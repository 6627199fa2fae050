"""hedgebot: keeps an altcoin spot portfolio hedged with perpetual and dated futures."""
