"""Operations: Prometheus metrics, alerts to a webhook or Telegram, and systemd readiness/watchdog."""
