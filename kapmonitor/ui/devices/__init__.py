"""The technician's device set-up: serial and Bluetooth tabs, connection test and raw inspector."""
