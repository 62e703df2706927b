"""Both ends of the MQTT protocol: the kiosk agent and the head-office hub."""
