"""Built-in ils-bridge plugins, loaded through the ``ils_bridge`` entry-point group."""
