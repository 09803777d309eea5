#!/bin/sh
echo "$GREETING from $(cat /etc/hello/motd)"
