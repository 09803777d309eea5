#!/bin/sh
# A debugging entry point layered on the app image.
cat /app/build-info /app/app.conf
