"""LeRobot dataset writer core (time sync through the contract), recorder node and keyboard node."""
