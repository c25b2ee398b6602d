"""Bluetooth LE health profiles: Heart Rate (0x180D), Blood Pressure (0x1810) and Pulse Oximeter (0x1822).

Read in this order: ``ieee11073`` (the numbers every characteristic uses), the pure characteristic parsers and
decoders ``hrm``, ``bpm``, ``plx``, ``racp`` (one notification in, frozen measurement or readings out),
``descriptors`` (the registered protocols ``ble-hrm``, ``ble-bpm``, ``ble-icp``, ``ble-plx-spot``,
``ble-plx-cont``), ``adapter`` (the bleak transport), ``scan`` (discovery), and ``fake`` / ``simulators``
(a device without a radio, for tests and the demo).
"""
