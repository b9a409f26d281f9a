"""Registry service: villages, residents, families (Kartu Keluarga), life events, accounts."""
