"""Gates: matrix objectives + snapshots -> verdicts. Nothing here touches the network."""
