# Sourced by the QGIS 3.40 scripts: the kernel file systems a chroot needs, mounted and unmounted in one place.

mount_all() {
    local root="$1"
    mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
    mountpoint -q "$root/sys" || mount -t sysfs sysfs "$root/sys"
    mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
    mountpoint -q "$root/dev/pts" || mount --bind /dev/pts "$root/dev/pts"
    mkdir -p "$root/dev/shm"
    mountpoint -q "$root/dev/shm" || mount -t tmpfs shm "$root/dev/shm"
}

unmount_all() {
    local root="$1" point
    for point in dev/shm dev/pts dev sys proc; do
        if mountpoint -q "$root/$point" 2>/dev/null; then
            umount "$root/$point" 2>/dev/null || umount -l "$root/$point"
        fi
    done
}
