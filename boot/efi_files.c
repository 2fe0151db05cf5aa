/*
 * Files from the ESP: \tessera\config.dtb and the images it names. The
 * config is a device tree; every "kernel", "initrd" or "dtb" string property
 * anywhere in it names a file to load (see docs/config.md).
 */
#include "boot/efi.h"
#include <libfdt.h>
#include <string.h>

#define CONFIG_PATH "/tessera/config.dtb"

static EFI_FILE_HANDLE open_root(void)
{
	EFI_GUID li_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	EFI_GUID fs_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
	EFI_BOOT_SERVICES *bs = efi_st->BootServices;
	EFI_LOADED_IMAGE *li;
	EFI_FILE_IO_INTERFACE *fs;
	EFI_FILE_HANDLE root;
	if (EFI_ERROR(bs->HandleProtocol(efi_image, &li_guid, (void **)&li)) ||
	    EFI_ERROR(bs->HandleProtocol(li->DeviceHandle, &fs_guid, (void **)&fs)) ||
	    EFI_ERROR(fs->OpenVolume(fs, &root)))
		return NULL;
	return root;
}

static void to_efi_path(const char *path, CHAR16 *out, size_t max)
{
	size_t i = 0;
	for (; path[i] && i + 1 < max; i++)
		out[i] = path[i] == '/' ? '\\' : (CHAR16)(unsigned char)path[i];
	out[i] = 0;
}

static EFI_STATUS file_size(EFI_FILE_HANDLE f, uint64_t *size)
{
	EFI_GUID info_guid = EFI_FILE_INFO_ID;
	union {
		EFI_FILE_INFO info;
		char raw[sizeof(EFI_FILE_INFO) + 512];
	} u;
	UINTN len = sizeof(u);
	EFI_STATUS s = f->GetInfo(f, &info_guid, &len, &u);
	if (!EFI_ERROR(s))
		*size = u.info.FileSize;
	return s;
}

EFI_STATUS efi_read_file(const char *path, void **data, uint64_t *size)
{
	CHAR16 wpath[BOOT_PATH_MAX];
	EFI_FILE_HANDLE root = open_root(), f;
	if (!root)
		return EFI_NO_MEDIA;
	to_efi_path(path, wpath, BOOT_PATH_MAX);
	EFI_STATUS s = root->Open(root, &f, wpath, EFI_FILE_MODE_READ, 0);
	root->Close(root);
	if (EFI_ERROR(s))
		return s;
	if (!EFI_ERROR((s = file_size(f, size)))) {
		UINTN len = *size;
		*data = efi_alloc(len ? len : 1);
		s = *data ? f->Read(f, &len, *data) : EFI_OUT_OF_RESOURCES;
		if (!EFI_ERROR(s) && len != *size)
			s = EFI_END_OF_FILE;
	}
	f->Close(f);
	return s;
}

static bool already_loaded(const struct boot_info *bi, const char *path)
{
	for (uint32_t i = 0; i < bi->n_modules; i++)
		if (strcmp(bi->modules[i].path, path) == 0)
			return true;
	return false;
}

static EFI_STATUS load_one(struct boot_info *bi, const char *path, int len)
{
	if (len <= 1 || len > BOOT_PATH_MAX || path[len - 1] != 0) {
		efi_printf("tessera: config: bad file name property\n");
		return EFI_INVALID_PARAMETER;
	}
	if (already_loaded(bi, path))
		return EFI_SUCCESS;
	if (bi->n_modules == BOOT_MAX_MODULES) {
		efi_printf("tessera: config names more than %d files\n", BOOT_MAX_MODULES);
		return EFI_OUT_OF_RESOURCES;
	}
	struct boot_module *m = &bi->modules[bi->n_modules];
	void *data;
	EFI_STATUS s = efi_read_file(path, &data, &m->size);
	if (EFI_ERROR(s)) {
		/* Not fatal: the kernel reports the partition that needs it. */
		efi_printf("tessera: cannot read %s from the ESP (0x%llx)\n", path,
			   (unsigned long long)s);
		return EFI_SUCCESS;
	}
	memcpy(m->path, path, len);
	m->base = (uint64_t)data;
	bi->n_modules++;
	efi_printf("tessera: loaded %s (%llu bytes)\n", path, (unsigned long long)m->size);
	return EFI_SUCCESS;
}

static bool names_file(const char *prop)
{
	return strcmp(prop, "kernel") == 0 || strcmp(prop, "initrd") == 0 ||
	       strcmp(prop, "dtb") == 0;
}

EFI_STATUS efi_load_modules(struct boot_info *bi)
{
	void *cfg;
	uint64_t size;
	EFI_STATUS s = efi_read_file(CONFIG_PATH, &cfg, &size);
	if (s == EFI_NOT_FOUND) {
		efi_printf("tessera: no %s on the ESP, using defaults\n", CONFIG_PATH);
		return EFI_SUCCESS;
	}
	if (EFI_ERROR(s) || fdt_check_header(cfg) != 0 || fdt_totalsize(cfg) > size) {
		efi_printf("tessera: %s is not a valid device tree blob; ignoring it\n",
			   CONFIG_PATH);
		return EFI_SUCCESS;
	}
	bi->config = cfg;
	bi->config_size = size;
	for (int node = 0; node >= 0; node = fdt_next_node(cfg, node, NULL)) {
		int prop;
		fdt_for_each_property_offset(prop, cfg, node)
		{
			const char *name;
			int len;
			const char *val = fdt_getprop_by_offset(cfg, prop, &name, &len);
			if (names_file(name) && EFI_ERROR((s = load_one(bi, val, len))))
				return s;
		}
	}
	return EFI_SUCCESS;
}
