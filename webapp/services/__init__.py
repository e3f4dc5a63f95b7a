"""Use cases. Each public function owns one transaction; nothing else commits."""
